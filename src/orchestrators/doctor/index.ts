export { createDoctor, summarize, LOCAL_TARGET, type Doctor, type DoctorDeps, type DoctorRequest, type DoctorSettings, type SavedRemote } from './doctor.ts';
export type { Check, CheckStatus, DoctorReport } from '../../services/diagnostics/types.ts';
export type { FixReport, FixStepResult, FixOutcome } from './fix.ts';
export type { FixStep } from '../../services/diagnostics/fix-plan.ts';
