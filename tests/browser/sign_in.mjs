// A person signing in through a browser: starts on a client page (--start URL) with a
// "Sign in" link to the authorize URL, goes through the Entra simulator's consent page
// (click on Accept) and lands on the client's redirect URI, which shows the code.
//
//   node sign_in.mjs --start http://127.0.0.1:PORT/ --shots target/test-logs/browser/sign-in
//
// Prints one JSON document: {"ok", "callbackUrl", "screenshots", "error"?}.
import { camera, launch } from "./browser.mjs";

const args = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) args[argv[i].replace(/^--/, "")] = argv[i + 1];
if (!args.start || !args.shots) { console.error("usage: node sign_in.mjs --start URL --shots DIR"); process.exit(2); }

const out = { ok: false };
const shots = camera(args.shots);
const browser = await launch();
try {
  const page = await browser.context.newPage();
  await page.goto(args.start);
  await shots.shoot(page, "client");
  await Promise.all([page.waitForSelector("#accept", { timeout: 15000 }), page.click("#sign-in")]);
  out.consentUser = await page.textContent("#user");
  await shots.shoot(page, "consent");
  await Promise.all([page.waitForSelector("#callback", { timeout: 15000 }), page.click("#accept")]);
  await shots.shoot(page, "callback");
  out.callbackUrl = page.url();
  out.ok = true;
} catch (error) {
  out.error = String(error?.message ?? error);
} finally {
  await browser.close();
}
out.screenshots = shots.taken;
process.stdout.write(JSON.stringify(out) + "\n");
