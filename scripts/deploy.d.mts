export declare const REQUIRED_SECRETS: string[];
export declare const ADVISED_SECRETS: string[];
export declare function checkOrigin(value: string | undefined): { ok: true; origin: string } | { ok: false; problem: string };
export declare function missingSecrets(present: string[]): string[];
