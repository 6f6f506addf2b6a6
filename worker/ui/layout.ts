/**
 * @module worker/ui/layout
 * worker/ui/ (entry: this module) owns the look of SMCP's own pages: the design system and the
 * landing page. It may import shared/ and npm packages.
 *
 * SMCP's one small design system for its own pages (landing, account, consent, errors): a page
 * shell with the operator's brand, a card layout, type scale, buttons and form fields, a dark
 * scheme (`prefers-color-scheme`), and the security headers every page carries. No scripts, no
 * external assets: one nonce'd `<style>`, and images only from this origin or `data:` URLs, so the
 * pages stay inside `default-src 'none'`. Layouts are single-column lists rather than tables, so
 * nothing overflows a 390 px wide phone.
 *
 * The brand comes from `SMCP_BRAND_NAME`, `SMCP_BRAND_ACCENT` and `SMCP_BRAND_LOGO_URL`
 * ({@link resolveBrand}); the Worker calls {@link configurePages} once per request, as it does
 * for the log level, so that every page, including the error pages drawn deep in a handler,
 * wears it.
 */
import type { Env } from "../../shared/env";

/** The operator's branding, validated. */
export interface Brand {
	/** Shown in the header and the page titles (default "SMCP"). */
	name: string;
	/** A `#rgb` or `#rrggbb` colour for buttons, links and focus rings. */
	accent: string;
	/** A `data:image/…` URL or a path on this origin (`/…`), or undefined for the plain mark. */
	logoUrl?: string;
}

const DEFAULT_BRAND: Brand = { name: "SMCP", accent: "#2457d6" };
let current: Brand = DEFAULT_BRAND;
let reported = "";

/**
 * Reads the brand settings. An invalid value is ignored (the default is used) and reported once
 * per isolate with the fix: a typo in a colour must not take the sign-in page down.
 *
 * @example
 * ```ts
 * resolveBrand({ SMCP_BRAND_NAME: "Acme MCP", SMCP_BRAND_ACCENT: "#0a7" }); // { name: "Acme MCP", accent: "#0a7" }
 * ```
 */
export function resolveBrand(env: Pick<Env, "SMCP_BRAND_NAME" | "SMCP_BRAND_ACCENT" | "SMCP_BRAND_LOGO_URL">): {
	brand: Brand;
	problems: string[];
} {
	const problems: string[] = [];
	const name = (env.SMCP_BRAND_NAME ?? "").trim();
	const accent = (env.SMCP_BRAND_ACCENT ?? "").trim();
	const logo = (env.SMCP_BRAND_LOGO_URL ?? "").trim();
	const brand: Brand = { ...DEFAULT_BRAND };
	if (name) {
		if (name.length > 60 || /[\u0000-\u001f\u007f]/.test(name)) problems.push("SMCP_BRAND_NAME must be 1-60 printable characters");
		else brand.name = name;
	}
	if (accent) {
		if (!/^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/.test(accent)) problems.push("SMCP_BRAND_ACCENT must be a hex colour such as #2457d6");
		else brand.accent = accent;
	}
	if (logo) {
		// Inside the pages' CSP (`img-src 'self' data:`): a path on this origin or an inline image.
		const inline = /^data:image\/(?:png|gif|webp|svg\+xml|jpeg);base64,[A-Za-z0-9+/]+={0,2}$/.test(logo) && logo.length <= 32_768;
		const path = /^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/.test(logo) && !logo.startsWith("//");
		if (!inline && !path)
			problems.push(
				"SMCP_BRAND_LOGO_URL must be a path on this server (/logo.svg) or a data:image/…;base64 URL up to 32 KB (the pages load nothing from other sites)",
			);
		else brand.logoUrl = logo;
	}
	return { brand, problems };
}

/** Sets the brand for this request's pages (call once per request, before any page is drawn). */
export function configurePages(env: Env, report: (problem: string) => void = () => {}): void {
	const { brand, problems } = resolveBrand(env);
	current = brand;
	const text = problems.join("; ");
	if (text && text !== reported) {
		reported = text;
		report(text);
	}
}

/** The brand pages are drawn with. */
export function brand(): Brand {
	return current;
}

/**
 * Escapes text for HTML element content and quoted attribute values (OWASP XSS Prevention Cheat
 * Sheet, rules 1 and 2). Every attribute on these pages is double-quoted, so these five suffice.
 *
 * @example
 * ```ts
 * escapeHtml('<script>alert(1)</script>'); // "&lt;script&gt;alert(1)&lt;/script&gt;"
 * ```
 */
export function escapeHtml(text: string): string {
	return text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}
const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** What {@link htmlPage} draws. */
export interface PageOptions {
	status?: number;
	/** The document title; the brand name is appended. */
	title: string;
	/** The page content, already escaped. */
	body: string;
	/** Right side of the header (e.g. "Signed in as … [Sign out]"), already escaped. */
	headerRight?: string;
	/** `narrow` for single cards (sign-in, consent, errors); `wide` for the account page. */
	width?: "narrow" | "wide";
	/** Extra headers (the provider's consent cookies); `Set-Cookie` values are appended. */
	headers?: Headers;
	/**
	 * Adds `form-action 'self'`. Off for the consent page: approving answers the POST with a 302 to
	 * the client's redirect URI, and Chrome and Safari check form-action against that redirect
	 * too, so `form-action 'self'` would block the OAuth response itself (w3c/webappsec-csp#8).
	 */
	formActionSelf?: boolean;
}

/**
 * A complete page with SMCP's security headers: no scripts at all (`default-src 'none'`, no
 * `script-src`), a nonce'd style, no framing (RFC 6749 §10.13; `X-Frame-Options` for browsers
 * without CSP 2), `Referrer-Policy: same-origin` (the consent URL carries the authorization
 * request; under `no-referrer` browsers send `Origin: null` on the page's own POSTs, which the
 * Origin checks must refuse), and `no-store`.
 *
 * @example
 * ```ts
 * return htmlPage({ title: "Sign in", body: `<div class="card">…</div>`, formActionSelf: true });
 * ```
 */
export function htmlPage(o: PageOptions): Response {
	const nonce = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16)))); // CSP3: ≥ 128 bits
	const b = current;
	const logo = b.logoUrl ? `<img src="${escapeHtml(b.logoUrl)}" alt="">` : `<span class="mark" aria-hidden="true"></span>`;
	const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(o.title)} · ${escapeHtml(b.name)}</title>
<style nonce="${nonce}">${STYLE}:root{--accent:${b.accent}}</style>
</head>
<body>
<header class="top ${o.width === "wide" ? "wide" : "narrow"}"><a class="brand" href="/">${logo}<span>${escapeHtml(b.name)}</span></a>${o.headerRight ?? ""}</header>
<main class="${o.width === "wide" ? "wide" : "narrow"}">
${o.body}
</main>
</body>
</html>`;
	const headers = new Headers({
		"Content-Type": "text/html; charset=utf-8",
		"Content-Security-Policy": `default-src 'none'; style-src 'nonce-${nonce}'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'${o.formActionSelf ? "; form-action 'self'" : ""}`,
		"X-Frame-Options": "DENY",
		"Referrer-Policy": "same-origin",
		"X-Content-Type-Options": "nosniff",
		"Cache-Control": "no-store",
	});
	if (o.headers) {
		// Every Set-Cookie; other headers only where the page has not set its own (the provider's
		// frame-ancestors-only CSP must not replace the stricter one here).
		o.headers.forEach((value, key) => {
			if (key.toLowerCase() !== "set-cookie" && !headers.has(key)) headers.set(key, value);
		});
		for (const cookie of o.headers.getSetCookie()) headers.append("Set-Cookie", cookie);
	}
	return new Response(html, { status: o.status ?? 200, headers });
}

/**
 * The stylesheet. Colours are custom properties with a dark set under `prefers-color-scheme`;
 * `--accent` is the operator's. Buttons and fields are at least 44 px tall (WCAG 2.5.5 target
 * size), and long tokens, URLs and code wrap instead of widening the page.
 */
const STYLE =
	":root{color-scheme:light dark;--bg:#f5f6f8;--card:#fff;--text:#171a20;--muted:#5a6272;--border:#dde1e8;--danger:#b42318;--ok:#17663a;--ok-bg:#e9f7ee;--warn-bg:#fff5e0;--err-bg:#fdecea;--code:#f0f2f5;--on-accent:#fff}" +
	"@media (prefers-color-scheme:dark){:root{--bg:#0e1014;--card:#171a21;--text:#e6e8ee;--muted:#a0a8b8;--border:#2b303b;--danger:#ff8a80;--ok:#8de0ac;--ok-bg:#10261a;--warn-bg:#2b2310;--err-bg:#2d1414;--code:#1f232b}}" +
	"*{box-sizing:border-box}html{-webkit-text-size-adjust:100%}" +
	"body{margin:0;font:16px/1.55 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;background:var(--bg);color:var(--text)}" +
	".top{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:.5rem 1rem;margin:0 auto;padding:1rem}" +
	".narrow{max-width:34rem}.wide{max-width:60rem}main{margin:0 auto;padding:0 1rem 3rem}" +
	".brand{display:flex;align-items:center;gap:.6rem;font-weight:700;font-size:1.05rem;color:var(--text);text-decoration:none}" +
	".brand img{height:28px;max-width:140px}.mark{width:26px;height:26px;border-radius:7px;background:var(--accent)}" +
	".who{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem;color:var(--muted);font-size:.95rem;min-width:0;overflow-wrap:anywhere}" +
	".card{background:var(--card);border:1px solid var(--border);border-radius:14px;padding:1.25rem;margin:0 0 1rem;min-width:0}" +
	"h1{font-size:1.45rem;line-height:1.25;margin:.25rem 0 .75rem;overflow-wrap:anywhere}h2{font-size:1.15rem;margin:0 0 .5rem}" +
	"h3{font-size:1rem;margin:0}p{margin:.5rem 0}.muted{color:var(--muted)}a{color:var(--accent)}" +
	"label{display:block;font-weight:600;margin:.75rem 0 .3rem}" +
	"input:not([type=checkbox]):not([type=radio]):not([type=hidden]),select{width:100%;min-height:44px;font:inherit;padding:.5rem .7rem;border:1px solid var(--border);border-radius:9px;background:var(--card);color:var(--text)}" +
	"input[type=checkbox],input[type=radio]{width:1.15rem;height:1.15rem;margin:.2rem 0 0;accent-color:var(--accent);flex:none}" +
	".check{display:flex;gap:.6rem;align-items:flex-start;margin:.5rem 0}.check label{display:inline;font-weight:400;margin:0}" +
	".btn{display:inline-flex;align-items:center;justify-content:center;min-height:44px;font:inherit;font-weight:600;padding:.5rem 1.1rem;border-radius:9px;border:1px solid var(--accent);background:var(--accent);color:var(--on-accent);cursor:pointer;text-decoration:none}" +
	".btn.secondary{background:transparent;color:var(--text);border-color:var(--border)}.btn.danger{background:transparent;color:var(--danger);border-color:var(--danger)}" +
	".btn.small{min-height:36px;padding:.3rem .8rem;font-size:.92rem}.actions{display:flex;flex-wrap:wrap;gap:.6rem;margin-top:1rem}" +
	":focus-visible{outline:3px solid var(--accent);outline-offset:2px}" +
	".alert{padding:.75rem 1rem;border-radius:10px;margin:0 0 1rem;overflow-wrap:anywhere}.alert.error{background:var(--err-bg);color:var(--danger);font-weight:600}" +
	".alert.ok{background:var(--ok-bg);color:var(--ok)}.alert.warn{background:var(--warn-bg)}" +
	"code,pre{font:.88em/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--code);border-radius:6px}code{padding:.1em .35em;overflow-wrap:anywhere}" +
	"pre{padding:.75rem;margin:.5rem 0;white-space:pre-wrap;word-break:break-all}" +
	".list{list-style:none;padding:0;margin:0}.list>li{display:flex;flex-wrap:wrap;gap:.4rem 1rem;justify-content:space-between;align-items:flex-start;padding:.8rem 0;border-top:1px solid var(--border)}" +
	".list>li:first-child{border-top:0}.list .grow{flex:1 1 16rem;min-width:0;overflow-wrap:anywhere}" +
	"details{margin:.25rem 0}summary{cursor:pointer;font-weight:600;min-height:36px;display:flex;align-items:center}details[open]>summary{margin-bottom:.4rem}" +
	".confirm{border:1px solid var(--danger);border-radius:10px;padding:.6rem .8rem;margin-top:.4rem}" +
	"fieldset{border:1px solid var(--border);border-radius:10px;margin:1rem 0;padding:.5rem 1rem 1rem;min-width:0}legend{font-weight:600;padding:0 .3rem}" +
	".plain{list-style:none;padding:0;margin:0}.tabs{display:flex;flex-wrap:wrap;gap:.5rem;margin:0 0 1rem;padding:0;list-style:none}" +
	".tabs a,.tabs strong{display:inline-block;padding:.35rem .8rem;border-radius:999px;border:1px solid var(--border);text-decoration:none;color:var(--text)}.tabs strong{border-color:var(--accent)}" +
	".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}";
