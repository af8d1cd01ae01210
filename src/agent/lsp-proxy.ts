import { UserError } from "../core/errors.ts";
import type { AgentContext, AgentOutcome } from "./commands.ts";

export async function lspProxy(_ctx: AgentContext): Promise<AgentOutcome> {
  throw new UserError("USAGE", "mlt lsp-proxy is not built yet", "run the language server with mlt run");
}
