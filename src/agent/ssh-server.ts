import { UserError } from "../core/errors.ts";
import type { AgentContext, AgentOutcome } from "./commands.ts";

export async function sshServer(_ctx: AgentContext): Promise<AgentOutcome> {
  throw new UserError("USAGE", "mlt ssh-server is not built yet", "use mlt shell or mlt run");
}
