import type { CommandSpec } from '../command.ts';
import { configSchemaSpec, configShowSpec, configValidateSpec } from './config/spec.ts';
import { initSpec } from './init/spec.ts';
import { migrateSpec } from './migrate/spec.ts';
import { attachSpec, connectSpec, downSpec, execSpec, fetchSpec, logsSpec, psSpec, shellSpec, statusSpec, stopSpec, syncSpec } from './connect/spec.ts';
import { doctorSpec } from './doctor/spec.ts';
import { pluginsDoctorSpec, pluginsListSpec, pluginsRunSpec } from './plugins/spec.ts';
import { datasyncDownSpec, datasyncUpSpec } from './datasync/spec.ts';
import { secretGetSpec, secretListSpec, secretRmSpec, secretSetSpec } from './secret/spec.ts';
import { remoteAddSpec, remoteListSpec, remoteRemoveSpec } from './remote/spec.ts';
import { portsCloseSpec, portsListSpec } from './ports/spec.ts';
import { backendAddSpec, backendListSpec, backendRemoveSpec, instancesListSpec, instancesStopSpec, instancesTerminateSpec, provisionSpec, searchSpec } from './provision/spec.ts';
import { relayAddHostSpec, relayImageBuildSpec, relayServeSpec, relayTokenSpec } from './relay/spec.ts';
import { opsCancelSpec, opsListSpec, opsWatchSpec } from './ops/spec.ts';
import { imageBootstrapSpec, imagePushSpec } from './image/spec.ts';
import { agentInstallSpec, agentRemoveSpec, agentStatusSpec } from './agent/spec.ts';

/**
 * Every command's spec, in help order. Specs are tiny; their `load()` pulls
 * in the real work only when the command runs. Add a command by creating
 * commands/<name>/spec.ts + run.ts and listing the spec here.
 */
export const commands: readonly CommandSpec[] = [
  connectSpec, syncSpec, fetchSpec, shellSpec, attachSpec, execSpec, logsSpec, psSpec, statusSpec, stopSpec, downSpec,
  datasyncUpSpec, datasyncDownSpec,
  portsListSpec, portsCloseSpec,
  initSpec, migrateSpec,
  configValidateSpec, configShowSpec, configSchemaSpec,
  secretSetSpec, secretGetSpec, secretListSpec, secretRmSpec,
  remoteAddSpec, remoteListSpec, remoteRemoveSpec,
  searchSpec, provisionSpec, instancesListSpec, instancesStopSpec, instancesTerminateSpec,
  backendAddSpec, backendListSpec, backendRemoveSpec,
  relayServeSpec, relayTokenSpec, relayAddHostSpec, relayImageBuildSpec, opsListSpec, opsWatchSpec, opsCancelSpec,
  agentInstallSpec, agentStatusSpec, agentRemoveSpec,
  doctorSpec,
  imageBootstrapSpec, imagePushSpec,
  pluginsListSpec, pluginsDoctorSpec, pluginsRunSpec,
];
