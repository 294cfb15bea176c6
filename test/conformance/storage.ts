/** Persistence conformance on memory storage (every runtime runs it; runners add their own adapter). */
import { memoryStorage } from '../../src/storage/memory.ts';
import { persistenceSuite } from './persistence.ts';
import { adapterSuite } from './storage-adapter.ts';

const open = async () => memoryStorage({ maxValueBytes: 64 * 1024 });
adapterSuite('memory', open);
persistenceSuite('memory', open);
