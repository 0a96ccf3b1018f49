import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/** Include directories for Envoy's protos: the tree @grpc/grpc-js-xds ships, never a copy in this repo. */
export function envoyIncludeDirs(): string[] {
  const deps = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  return ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(deps, d));
}

/** The project's own proto/ directory, found from this file whether run from src/ or dist/src/. */
export function ownProtoDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'proto');
    try {
      require.resolve(join(dir, 'package.json'));
      return candidate;
    } catch {
      dir = dirname(dir);
    }
  }
  throw new Error('cannot locate the Spillway package root (proto/ directory)');
}

/** Where grpc-health-check keeps gRPC's health.proto: the package's copy, never one in this repo. */
export function healthProtoDir(): string {
  return join(dirname(require.resolve('grpc-health-check/package.json')), 'proto');
}
