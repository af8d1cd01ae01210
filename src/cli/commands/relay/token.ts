import { UserError } from '../../../core/errors.ts';
import { stringArg, stringOption, type CommandRun } from '../../command.ts';

export const run: CommandRun = async (context, input) => {
  const action = stringArg(input, 'action');
  const relay = await context.app.relay();
  switch (action) {
    case 'create': {
      const name = stringOption(input, 'name');
      if (!name) throw new UserError('USAGE', 'relay token create needs --name', 'name it after where it is used: mltoolbox relay token create --name laptop');
      const host = stringOption(input, 'host');
      const { token, record } = await relay.createToken({ name, ...(host === undefined ? {} : { host }) });
      context.reporter.info(`token '${record.name}' created (id ${record.id}); it is shown once — store it now, e.g. in the secret store: mltoolbox secret set relay_token`);
      return { result: { ...record, token }, human: () => token };
    }
    case 'list': {
      const tokens = await relay.listTokens();
      return {
        result: { tokens },
        human: () => tokens.length === 0
          ? 'no tokens yet: mltoolbox relay token create --name NAME'
          : tokens.map((t) => `${t.id}  ${t.scope.padEnd(5)}  ${t.name.padEnd(24)}  created ${t.createdAt}  ${t.revokedAt ? `revoked ${t.revokedAt}` : t.lastUsedAt ? `last used ${t.lastUsedAt}` : 'never used'}`).join('\n'),
      };
    }
    case 'revoke': {
      const which = stringArg(input, 'token');
      if (!which) throw new UserError('USAGE', 'relay token revoke needs the token\'s id or name', 'see them with: mltoolbox relay token list');
      const revoked = await relay.revokeToken(which);
      return { result: { revoked }, human: () => `revoked ${revoked.join(', ')} (live connections using it close within 30 s)` };
    }
    default:
      throw new UserError('USAGE', `unknown action '${String(action).slice(0, 20)}' for relay token`, 'use one of: create, list, revoke');
  }
};
