/** The same suite with the SDK replaced by the oldest version we claim (the `anthropic-v0` alias, 0.137). */
import { vi } from 'vitest';
import { anthropicSuite } from './_anthropic-suite.ts';
import { installedVersion } from './_versions.ts';

vi.mock('@anthropic-ai/sdk', async () => await import('anthropic-v0'));

// @anthropic-ai/sdk 0.x sends an API key as `x-api-key`, which fetch would forward across origins.
anthropicSuite({ label: '@anthropic-ai/sdk 0.x, oldest claimed', version: installedVersion('anthropic-v0'), keyHeader: 'x-api-key' });
