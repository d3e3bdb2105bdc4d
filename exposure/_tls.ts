/**
 * A throw-away self-signed certificate for 127.0.0.1 and localhost, made by openssl at run time in
 * a temporary directory (nothing is committed). The agent trusts it through NODE_EXTRA_CA_CERTS,
 * so TLS verification stays on in every mode.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SelfSigned {
  cert: Buffer;
  key: Buffer;
  /** Path of the certificate (PEM), for NODE_EXTRA_CA_CERTS. */
  certPath: string;
}

export function selfSignedCertificate(dir: string): SelfSigned {
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyPath, '-out', certPath, '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ], { stdio: 'ignore' });
  return { cert: readFileSync(certPath), key: readFileSync(keyPath), certPath };
}
