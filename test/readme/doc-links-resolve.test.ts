import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { expect, it } from "vitest";

/**
 * Every relative link and image in the README and docs/ points at a file
 * that is in the repository: a moved document or a screenshot never written
 * shows up here rather than as a broken page for a reader.
 */

const ROOT = resolve(import.meta.dirname, "../..");

function markdownFiles(): string[] {
  const docs = readdirSync(join(ROOT, "docs"), { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".md"))
    .map((name) => join(ROOT, "docs", name));
  return [join(ROOT, "README.md"), join(ROOT, "bench", "README.md"), ...docs];
}

/** Targets of `[text](target)` and `![alt](target)` outside fenced code blocks. */
function relativeTargets(markdown: string): string[] {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, "");
  const targets: string[] = [];
  for (const match of prose.matchAll(/!?\[[^\]]*\]\(([^)\s]+)\)/g)) {
    const target = (match[1] as string).split("#")[0] as string;
    if (target === "" || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
    targets.push(decodeURIComponent(target));
  }
  return targets;
}

it("every relative link in the README and docs/ resolves to a file in the repository", () => {
  const broken: string[] = [];
  for (const file of markdownFiles()) {
    for (const target of relativeTargets(readFileSync(file, "utf8"))) {
      const path = resolve(dirname(file), target);
      if (!path.startsWith(ROOT) || !existsSync(path)) {
        broken.push(`${relative(ROOT, file)} → ${target}`);
      }
    }
  }
  expect(broken).toEqual([]);
});
