// Generates TypeScript types for every .proto Spillway loads at run time into src/generated/ (not
// committed): the types always follow the pinned packages, never a hand-edited copy.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENVOY_PROTO_FILES, OWN_PROTO_FILES } from '../src/protos/proto-files.js';
import { envoyIncludeDirs, ownProtoDir } from '../src/protos/proto-paths.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const out = join(root, 'src/generated');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const bin = join(dirname(require.resolve('@grpc/proto-loader/package.json')), 'build/bin/proto-loader-gen-types.js');
execFileSync(
  process.execPath,
  [
    bin,
    ...['--keepCase', '--longs', 'String', '--enums', 'String', '--defaults', '--oneofs'],
    ...['--importFileExtension', '.js', '--grpcLib', '@grpc/grpc-js'],
    '-I', ...envoyIncludeDirs(), ownProtoDir(),
    '-O', out,
    ...ENVOY_PROTO_FILES,
    ...OWN_PROTO_FILES,
  ],
  { stdio: 'inherit' },
);
