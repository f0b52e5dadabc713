// Imported first by every entry point, before anything else loads: the project runs on Node 24 LTS
// (engines >=24), and an older Node would otherwise fail later and obscurely (client-node 2.x's undici
// crashes at import on Node 20). ESM evaluates imports in order, so this check runs first.
const REQUIRED_MAJOR = 24;
const major = Number(process.versions.node.split('.')[0]);
if (!(major >= REQUIRED_MAJOR)) {
  process.stderr.write(
    `seckill needs Node.js ${REQUIRED_MAJOR} or newer, but this is ${process.version} (${process.execPath}). ` +
      'Use the npm scripts (they install Node 24 into ~/.cache/seckill, see tools/node.sh) or install Node 24 LTS.\n',
  );
  process.exit(1);
}
export {};
