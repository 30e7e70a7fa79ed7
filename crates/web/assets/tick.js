// A timer for the waiting room while its tab is hidden: browsers slow a hidden page's
// own timers to about once a minute, which would let the heartbeat lapse and lose the
// place; a worker's timers keep time. Each message is a delay in ms, answered when due.
'use strict';
self.onmessage = (e) => { setTimeout(() => self.postMessage(e.data), e.data); };
