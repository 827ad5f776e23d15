// An execution resumed while ABORTING, on the memory store: every running attempt is aborted through its plugin.
import { MemoryStore } from '@flyte-ts/store-memory';
import { resumeAbortSuite } from './resume-abort.js';

resumeAbortSuite('an execution resumed ABORTING (memory store)', { store: async () => new MemoryStore() });
