// The entry of the self-contained executable (scripts/build-agent.mjs).
import { main } from './main.ts';

main();
