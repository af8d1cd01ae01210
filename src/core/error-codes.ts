import { ExitCode, type ExitCodeValue } from './exit-codes.ts';

/**
 * Every stable error code a user can see, with its exit code.
 * Codes are part of the interface (scripts match on `--json` error.code):
 * add new ones, never rename. Each must be documented in docs/errors.md
 * (a unit test checks). Keep one block per area, in the area's order.
 */
export const ErrorCodes = {
  // --- command line -------------------------------------------------------
  USAGE: { exit: ExitCode.usage },
  UNKNOWN_COMMAND: { exit: ExitCode.usage },
  NODE_TOO_OLD: { exit: ExitCode.userError },
  INTERRUPTED: { exit: ExitCode.interrupted },
  INTERNAL: { exit: ExitCode.internal },
  PROJECT_DIR_NOT_FOUND: { exit: ExitCode.userError },

  // --- ssh / hosts --------------------------------------------------------
  SSH_NOT_INSTALLED: { exit: ExitCode.userError },
  SSH_UNREACHABLE: { exit: ExitCode.unreachable },
  SSH_AUTH_FAILED: { exit: ExitCode.unreachable },
  SSH_HOST_KEY_CHANGED: { exit: ExitCode.unreachable },
  SSH_HOST_KEY_UNKNOWN: { exit: ExitCode.unreachable },
  SSH_TIMEOUT: { exit: ExitCode.unreachable },
  SSH_CONFIG_NOT_FOUND: { exit: ExitCode.userError },
  SSH_CONNECTION_LOST: { exit: ExitCode.unreachable },
  REMOTE_COMMAND_FAILED: { exit: ExitCode.remoteCommandFailed },
  LOCAL_COMMAND_FAILED: { exit: ExitCode.userError },

  // --- doctor ---------------------------------------------------------------
  CHECKS_FAILED: { exit: ExitCode.checksFailed },

  // --- configuration --------------------------------------------------------
  CONFIG_INVALID: { exit: ExitCode.config },
  CONFIG_UNREADABLE: { exit: ExitCode.config },
  CONFIG_EXISTS: { exit: ExitCode.userError },
  CONFIG_KEY_UNKNOWN: { exit: ExitCode.usage },
  DEVCONTAINER_AMBIGUOUS: { exit: ExitCode.config },
  DEVCONTAINER_NOT_FOUND: { exit: ExitCode.config },
  DEVCONTAINER_UNSUPPORTED: { exit: ExitCode.config },
  INTERPOLATION_FAILED: { exit: ExitCode.config },
  ENV_FILE_UNREADABLE: { exit: ExitCode.config },
  PROFILE_UNKNOWN: { exit: ExitCode.config },

  // --- secrets --------------------------------------------------------------
  SECRET_NOT_FOUND: { exit: ExitCode.userError },
  SECRET_NAME_INVALID: { exit: ExitCode.usage },
  SECRET_VALUE_EMPTY: { exit: ExitCode.userError },
  SECRET_PASSPHRASE_REQUIRED: { exit: ExitCode.userError },
  SECRET_PASSPHRASE_WRONG: { exit: ExitCode.userError },
  SECRET_STORE_CORRUPT: { exit: ExitCode.userError },
  SECRET_STORE_UNAVAILABLE: { exit: ExitCode.userError },

  // --- state ----------------------------------------------------------------
  STATE_DB_TOO_NEW: { exit: ExitCode.userError },
  STATE_DB_CORRUPT: { exit: ExitCode.userError },
  STATE_DB_BUSY: { exit: ExitCode.userError },
  STATE_DB_UNAVAILABLE: { exit: ExitCode.userError },
  STATE_MIGRATION_FAILED: { exit: ExitCode.userError },
  REMOTE_NOT_FOUND: { exit: ExitCode.userError },
  REMOTE_ALIAS_INVALID: { exit: ExitCode.usage },
  REMOTE_TARGET_INVALID: { exit: ExitCode.usage },

  // --- containers -----------------------------------------------------------
  DOCKER_UNREACHABLE: { exit: ExitCode.unreachable },
  DOCKER_PERMISSION_DENIED: { exit: ExitCode.unreachable },
  DOCKER_ENGINE_ERROR: { exit: ExitCode.userError },
  IMAGE_NOT_FOUND: { exit: ExitCode.userError },
  IMAGE_BUILD_FAILED: { exit: ExitCode.userError },
  IMAGE_BOOTSTRAP_FAILED: { exit: ExitCode.userError },
  IMAGE_TRANSFER_FAILED: { exit: ExitCode.userError },
  BUILD_CONTEXT_INVALID: { exit: ExitCode.config },
  CONTAINER_SPEC_INVALID: { exit: ExitCode.config },
  CONTAINER_NAME_CONFLICT: { exit: ExitCode.userError },
  CONTAINER_START_FAILED: { exit: ExitCode.userError },
  CONTAINER_EXITED: { exit: ExitCode.userError },
  CONTAINER_NOT_FOUND: { exit: ExitCode.userError },
  CONTAINER_NOT_RUNNING: { exit: ExitCode.userError },
  PORT_BUSY: { exit: ExitCode.userError },
  GPU_RUNTIME_MISSING: { exit: ExitCode.userError },
  GPU_CDI_SPEC_MISSING: { exit: ExitCode.userError },
  GPU_CDI_UNSUPPORTED: { exit: ExitCode.userError },

  // --- sync -----------------------------------------------------------------
  SYNC_RSYNC_NOT_INSTALLED: { exit: ExitCode.userError },
  SYNC_RSYNC_TOO_OLD: { exit: ExitCode.userError },
  SYNC_RSYNC_MISSING_ON_HOST: { exit: ExitCode.userError },
  SYNC_CONNECTION_FAILED: { exit: ExitCode.unreachable },
  SYNC_SHELL_NOT_CLEAN: { exit: ExitCode.userError },
  SYNC_UNSAFE_REMOTE_DIR: { exit: ExitCode.userError },
  SYNC_PATTERN_INVALID: { exit: ExitCode.userError },
  SYNC_PATH_NOT_FOUND: { exit: ExitCode.userError },
  SYNC_DISK_FULL: { exit: ExitCode.userError },
  SYNC_PARTIAL_TRANSFER: { exit: ExitCode.remoteCommandFailed },
  SYNC_WATCH_LIMIT: { exit: ExitCode.userError },
  SYNC_FAILED: { exit: ExitCode.remoteCommandFailed },
  SYNC_RCLONE_UNSUPPORTED: { exit: ExitCode.userError },

  // --- connect --------------------------------------------------------------
  NOT_CONNECTED: { exit: ExitCode.userError },
  CONNECT_IN_PROGRESS: { exit: ExitCode.userError },
  FORWARD_NOT_FOUND: { exit: ExitCode.userError },

  // --- dev container features ---------------------------------------------
  FEATURE_REFERENCE_INVALID: { exit: ExitCode.config },
  FEATURE_NOT_FOUND: { exit: ExitCode.config },
  FEATURE_FETCH_FAILED: { exit: ExitCode.unreachable },
  FEATURE_AUTH_FAILED: { exit: ExitCode.unreachable },
  FEATURE_INVALID: { exit: ExitCode.userError },
  FEATURE_LOCK_MISMATCH: { exit: ExitCode.userError },
  FEATURE_ORDER_INVALID: { exit: ExitCode.config },
  FEATURE_INSTALL_FAILED: { exit: ExitCode.userError },
  FEATURE_NOT_APPLICABLE: { exit: ExitCode.config },

  // --- agent (mlt on the host) ---------------------------------------------
  AGENT_NO_CONTAINER: { exit: ExitCode.userError },
  AGENT_CONTAINER_AMBIGUOUS: { exit: ExitCode.usage },
  AGENT_PROJECT_UNKNOWN: { exit: ExitCode.userError },
  AGENT_NOT_BUILT: { exit: ExitCode.userError },
  AGENT_INSTALL_FAILED: { exit: ExitCode.remoteCommandFailed },
  AGENT_UNSUPPORTED_HOST: { exit: ExitCode.userError },

  // --- plugins --------------------------------------------------------------
  PLUGIN_NOT_FOUND: { exit: ExitCode.config },
  PLUGIN_LOAD_FAILED: { exit: ExitCode.userError },
  PLUGIN_INVALID: { exit: ExitCode.userError },
  PLUGIN_API_MISMATCH: { exit: ExitCode.userError },
  PLUGIN_HOOK_FAILED: { exit: ExitCode.userError },
  PLUGIN_HOOK_TIMEOUT: { exit: ExitCode.userError },

  // --- datasync -------------------------------------------------------------
  RCLONE_NOT_FOUND: { exit: ExitCode.userError },
  DATASYNC_FAILED: { exit: ExitCode.remoteCommandFailed },

  // --- migrate (from v2) ----------------------------------------------------
  MIGRATE_NOTHING_FOUND: { exit: ExitCode.userError },
  MIGRATE_LEGACY_INVALID: { exit: ExitCode.config },
  MIGRATE_SECRET_CONFLICT: { exit: ExitCode.userError },
  MIGRATE_CONFIRMATION_REQUIRED: { exit: ExitCode.usage },

  // --- provisioning (GPU clouds) --------------------------------------------
  BACKEND_UNKNOWN: { exit: ExitCode.usage },
  BACKEND_NOT_CONFIGURED: { exit: ExitCode.userError },
  PROVIDER_AUTH_FAILED: { exit: ExitCode.unreachable },
  PROVIDER_ACCOUNT: { exit: ExitCode.userError },
  PROVIDER_CAPACITY: { exit: ExitCode.userError },
  PROVIDER_RATE_LIMITED: { exit: ExitCode.unreachable },
  PROVIDER_UNAVAILABLE: { exit: ExitCode.unreachable },
  PROVIDER_REQUEST_INVALID: { exit: ExitCode.userError },
  PROVIDER_NOT_FOUND: { exit: ExitCode.userError },
  NO_OFFER: { exit: ExitCode.userError },
  INSTANCE_NOT_FOUND: { exit: ExitCode.userError },
  INSTANCE_NOT_READY: { exit: ExitCode.unreachable },
  INSTANCE_STOP_UNSUPPORTED: { exit: ExitCode.userError },
  CONFIRMATION_REQUIRED: { exit: ExitCode.usage },
  // --- relay ----------------------------------------------------------------
  RELAY_DATABASE_UNAVAILABLE: { exit: ExitCode.userError },
  RELAY_TOKEN_NAME_INVALID: { exit: ExitCode.usage },
  RELAY_TOKEN_EXISTS: { exit: ExitCode.userError },
  RELAY_TOKEN_NOT_FOUND: { exit: ExitCode.userError },
  RELAY_LISTEN_FAILED: { exit: ExitCode.userError },
  RELAY_TLS_INVALID: { exit: ExitCode.config },
  RELAY_NOT_CONFIGURED: { exit: ExitCode.userError },
  RELAY_AGENT_MISSING: { exit: ExitCode.userError },
  RELAY_DAEMON_START_FAILED: { exit: ExitCode.remoteCommandFailed },
  RELAY_UNAVAILABLE: { exit: ExitCode.userError },
  OPERATION_NOT_FOUND: { exit: ExitCode.userError },
  OPERATION_START_FAILED: { exit: ExitCode.userError },
  OPERATION_FAILED: { exit: ExitCode.userError },
  OPERATION_CANCELLED: { exit: ExitCode.interrupted },
  OPERATION_FINISHED: { exit: ExitCode.userError },
  RELAY_IMAGE_BUILD_FAILED: { exit: ExitCode.userError },
} as const satisfies Record<string, { exit: ExitCodeValue }>;

export type ErrorCode = keyof typeof ErrorCodes;
