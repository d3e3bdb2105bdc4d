import { anthropicSuite } from './_anthropic-suite.ts';
import { installedVersion } from './_versions.ts';

// @anthropic-ai/sdk 1.x sends an API key as `Authorization: Bearer`.
anthropicSuite({ label: '@anthropic-ai/sdk, newest installed', version: installedVersion('@anthropic-ai/sdk'), keyHeader: 'authorization' });
