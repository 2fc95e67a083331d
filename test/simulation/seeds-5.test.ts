// Seeds 501..625 of the 1,000 CI runs (sim/seed-shard.ts says why eight shards).
import { seedShard } from './sim/seed-shard.js';

seedShard(5);
