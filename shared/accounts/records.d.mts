/** Types for records.mjs (see there). */
export interface StoredAccount {
	userId: string;
	email: string;
	tenantId: string;
	tenants: string[];
	createdAt: number;
}
export type BuildError = { reason: "invalid_email" } | { reason: "weak_password" };
export declare const MIN_PASSWORD_LENGTH: number;
export declare const PBKDF2_ITERATIONS: number;
export declare const HASH_SCHEME: string;
export declare const HASH_BYTES: number;
export declare function hashPassword(password: string): Promise<string>;
export declare function pbkdf2(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array>;
export declare function accountRecords(account: StoredAccount, passwordHash: string): { key: string; value: string }[];
export declare function emailKey(email: string): string;
export declare function userKey(userId: string): string;
export declare function normalizeEmail(email: string): string | null;
export declare function newId(prefix: "u_" | "t_"): string;
export declare function buildAccountRecords(
	email: string,
	password: string,
	ids?: { userId?: string; tenantId?: string; createdAt?: number },
): Promise<{ ok: true; value: { account: StoredAccount; records: { key: string; value: string }[] } } | { ok: false; error: BuildError }>;
