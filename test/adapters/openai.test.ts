import { openaiSuite } from './_openai-suite.ts';
import { installedVersion } from './_versions.ts';

openaiSuite({ label: 'openai, newest installed', version: installedVersion('openai'), debugEnv: { OPENAI_LOG: 'debug' } });
