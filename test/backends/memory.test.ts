import { describe, it } from 'vitest';
import { memoryBackend } from '../../src/backends/memory.ts';
import { backendConformance } from '../../src/testing/index.ts';

backendConformance({ describe, it }, () => memoryBackend(), { name: 'memory backend conformance', without: ['close'] });
