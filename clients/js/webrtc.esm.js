// ES module entry: import RealtimeCall from './webrtc.esm.js' (webrtc.js sets globalThis.RealtimeCall).
import './webrtc.js';
const RealtimeCall = globalThis.RealtimeCall;
export { RealtimeCall };
export default RealtimeCall;
