/** The same suite with `openai` replaced by the oldest version we claim (the `openai-v4` alias, 4.95). */
import { vi } from 'vitest';
import { openaiSuite } from './_openai-suite.ts';
import { installedVersion } from './_versions.ts';

vi.mock('openai', async () => await import('openai-v4'));

// openai 4 logs through console.log when DEBUG=true (it has no OPENAI_LOG).
openaiSuite({ label: 'openai 4, oldest claimed', version: installedVersion('openai-v4'), debugEnv: { DEBUG: 'true' } });
