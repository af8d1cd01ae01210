export { describeGpus, nvidiaSmiQueryArgs, parseNvidiaSmi, QUERY_FIELDS, type GpuInfo, type NvidiaSmiReport } from './nvidia-smi.ts';
