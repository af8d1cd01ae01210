/** A profile: variables passed through from the local environment, plus fixed ones. */
export interface ProfileDefinition {
  pass_through?: readonly string[];
  env?: Readonly<Record<string, string | number | boolean>>;
}

/**
 * Built-in profiles. ml-research carries the usual experiment-tracking and
 * model-hub credentials into the container when they are set locally, so
 * nobody has to copy tokens into mltoolbox.yaml.
 */
export const BUILTIN_PROFILES: Readonly<Record<string, ProfileDefinition>> = {
  'ml-research': {
    pass_through: [
      'WANDB_API_KEY', 'WANDB_PROJECT', 'WANDB_ENTITY', 'WANDB_BASE_URL', 'WANDB_MODE',
      'HF_TOKEN', 'HF_HOME', 'HUGGING_FACE_HUB_TOKEN', 'HF_HUB_ENABLE_HF_TRANSFER', 'HF_DATASETS_CACHE',
      'TRANSFORMERS_CACHE', 'MLFLOW_TRACKING_URI', 'MLFLOW_TRACKING_TOKEN', 'COMET_API_KEY', 'NEPTUNE_API_TOKEN',
      'OPENAI_API_KEY', 'ANTHROPIC_API_KEY',
    ],
  },
};

/** Names whose values are credentials: config show prints <redacted> instead. */
export function looksSensitive(name: string): boolean {
  return /(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH)/i.test(name);
}
