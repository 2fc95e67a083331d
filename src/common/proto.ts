// The one import point for the generated protobuf code. The side-effect import below
// must stay first: see proto-numbers.ts.
import './proto-numbers.js';
import { duoraft } from '../generated/proto.js';

export { duoraft };
export const pb = duoraft;
