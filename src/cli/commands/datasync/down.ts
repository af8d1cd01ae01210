import { datasyncRun } from './run.ts';

export const run = datasyncRun('down');
