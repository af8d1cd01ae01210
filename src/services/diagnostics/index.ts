export { buildProbeScript, newMarker, parseProbeOutput, type ProbeSection, type ProbeSections } from './probe.ts';
export { checkLocalRsync, checkSshClient, evaluateHost, FIXES, type HostCheckOptions } from './checks.ts';
export type { Check, CheckStatus, DoctorReport } from './types.ts';
