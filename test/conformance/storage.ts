/** Persistence conformance: the adapter suite on memory storage (every runtime runs it). */
import { memoryStorage } from '../../src/storage/memory.ts';
import { adapterSuite } from './storage-adapter.ts';

adapterSuite('memory', async () => memoryStorage({ maxValueBytes: 64 * 1024 }));
