/**
 * @module shared/packs
 * The tool packs SMCP serves, assembled into the one registry every lane publishes.
 */
import { ToolRegistry } from "../registry";
import { auditTools } from "./audit/tools";
import { memoryTools } from "./memory/tools";

/** The registry shared by all lanes and the tenant kernel. Built once per isolate. */
export const registry = new ToolRegistry([...memoryTools, ...auditTools]);
