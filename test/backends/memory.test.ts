import { describe, it } from 'vitest';
import { memoryBackend } from '../../src/backends/memory.js';
import { backendConformance } from '../../src/testing/index.js';

backendConformance({ describe, it }, () => memoryBackend(), { name: 'memory backend conformance' });
