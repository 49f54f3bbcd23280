// TCP connections: a SYN seen at two points or retransmitted is one attempt; answers, resets and reused ports.
import t from 'tap';
import { TcpTracker, createTcpStats, summarizeTcp } from '../../lib/analysis/tcp.ts';
import type { Flow, TCPFlags } from '../../lib/flows/types.ts';

function segment(flags: TCPFlags, reply: boolean, clientPort = 40000): Flow {
  const [src, dst] = reply ? ['10.0.0.2', '10.0.0.1'] : ['10.0.0.1', '10.0.0.2'];
  return {
    IP: { source: src, destination: dst },
    l4: { TCP: { source_port: reply ? 80 : clientPort, destination_port: reply ? clientPort : 80, flags } },
    is_reply: reply,
  };
}

t.test('handshakes, retransmissions, resets, a reused port', async (t) => {
  const tracker = new TcpTracker();
  const stats = createTcpStats();
  const see = (f: Flow, ms: number) => tracker.observe(stats, f, f.is_reply === true, ms);
  // A connection seen leaving the client's node and arriving at the server's: one attempt, answered.
  see(segment({ SYN: true }, false), 0);
  see(segment({ SYN: true }, false), 0.2);
  see(segment({ SYN: true, ACK: true }, true), 0.5);
  see(segment({ ACK: true }, false), 1);
  see(segment({ RST: true }, true), 50);
  see(segment({ RST: true }, true), 50.2);
  // A SYN nobody answers, retransmitted after 1 s and 3 s.
  for (const ms of [100, 1100, 3100]) see(segment({ SYN: true }, false, 40001), ms);
  // The first port reused two minutes later for a new connection.
  see(segment({ SYN: true }, false), 120_000);
  see(segment({ SYN: true, ACK: true }, true), 120_001);
  t.same(summarizeTcp(stats), { attempts: 3, unanswered: 1, resets: 1 });
  t.equal(summarizeTcp(createTcpStats()), null, 'no TCP, no numbers');
});

t.test('state is bounded: old connections are forgotten, their counts kept', async (t) => {
  const tracker = new TcpTracker({ idleMs: 1000, maxConnections: 500 });
  const stats = createTcpStats();
  for (let i = 0; i < 20_000; i++) tracker.observe(stats, segment({ SYN: true }, false, 1000 + (i % 60000)), false, i);
  t.equal(stats.attempts, 20_000);
  t.ok(tracker.tracked <= 4096 + 500, `${tracker.tracked} connections held`);
});
