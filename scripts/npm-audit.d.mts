/** Types for npm-audit.mjs (see there). */
export declare function auditVerdict(stdout: string, status: number | null): { exit: 0 | 1; lines: string[] };
