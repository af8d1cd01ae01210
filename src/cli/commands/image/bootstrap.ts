import { listOption, stringOption, type CommandRun } from '../../command.ts';

export const run: CommandRun = async (context, input) => {
  const images = await context.app.images();
  const distro = stringOption(input, 'distro');
  const mirror = stringOption(input, 'mirror');
  const result = await images.bootstrap({
    ...(distro ? { distro } : {}),
    ...(mirror ? { mirror } : {}),
    packages: listOption(input, 'packages'),
  });
  const { spec } = result;
  return {
    result: { tag: result.tag, imageId: result.imageId, action: result.action, distro: `${spec.family}:${spec.suite}`, packages: spec.packages, mirror: spec.mirror, mirrorFrom: result.mirrorFrom },
    human: () => [
      `${context.style.green('✔')} ${result.tag} (${result.action === 'cached' ? 'already built' : 'built'})`,
      `  distro   ${spec.family}:${spec.suite}`,
      `  packages ${spec.packages.join(', ') || '(minbase only)'}`,
      `  mirror   ${spec.mirror} (${result.mirrorFrom})`,
      `  use it   environment.base_image: ${result.tag}`,
    ].join('\n'),
  };
};
