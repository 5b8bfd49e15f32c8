// Headless Debian chromium (/usr/bin/chromium) driven by playwright-core: no browser
// download is possible here, so playwright-core (which has none) is pointed at the
// system one. Shared by the browser scripts of this folder.
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
// --headless is added by playwright (headless: true); the rest keeps chromium quiet,
// offline and reproducible. The fresh profile is --user-data-dir (launchPersistentContext).
export const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** A fresh browser context in a fresh profile; `close()` removes the profile. */
export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), "entra-guard-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1100, height: 800 },
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Screenshots numbered in the order they are taken, under `dir`. */
export function camera(dir) {
  mkdirSync(dir, { recursive: true });
  let n = 0;
  const taken = [];
  return {
    taken,
    async shoot(page, name) {
      const path = join(dir, `${String(++n).padStart(2, "0")}-${name}.png`);
      await page.screenshot({ path, fullPage: true });
      taken.push(path);
    },
  };
}
