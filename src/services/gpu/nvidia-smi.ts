/**
 * The parser lives in core so plugins (which may import only core and the
 * plugin API) use the same code as doctor; this keeps the old import path.
 */
export { describeGpus, nvidiaSmiQueryArgs, parseNvidiaSmi, QUERY_FIELDS, type GpuInfo, type NvidiaSmiReport } from '../../core/gpu/nvidia-smi.ts';
