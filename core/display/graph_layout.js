/**
 * A layered (Sugiyama-style) layout that stays fast for thousands of tasks: ranks by longest path
 * from the inputs, then a few barycentre sweeps to order each rank so that edges cross less.
 * O(sweeps × (nodes + edges)); long edges are not split into dummy nodes (that is what makes
 * classic layouts slow on deep graphs), they are drawn straight.
 *
 * @module
 */

/**
 * @typedef {{ rank: Int32Array, order: Float64Array, rankCount: number, rankSizes: Int32Array }}
 *   Layers
 */

/**
 * Ranks and in-rank positions of `n` nodes joined by `edges` (`[from, to]`: `from` must come
 * first, e.g. dependency → dependent). Nodes on a cycle, which a task graph never has, get rank 0.
 * @param {number} n
 * @param {ArrayLike<readonly [number, number]>} edges
 * @param {number} [sweeps]
 * @returns {Layers}
 */
export function layeredLayout(n, edges, sweeps = 4) {
  const m = edges.length;
  // Adjacency as compressed rows, both directions.
  const outStart = new Int32Array(n + 1);
  const inStart = new Int32Array(n + 1);
  for (let i = 0; i < m; i++) {
    outStart[edges[i][0] + 1]++;
    inStart[edges[i][1] + 1]++;
  }
  for (let v = 0; v < n; v++) {
    outStart[v + 1] += outStart[v];
    inStart[v + 1] += inStart[v];
  }
  const outAdj = new Int32Array(m);
  const inAdj = new Int32Array(m);
  const outFill = outStart.slice(0, n);
  const inFill = inStart.slice(0, n);
  for (let i = 0; i < m; i++) {
    const [a, b] = edges[i];
    outAdj[outFill[a]++] = b;
    inAdj[inFill[b]++] = a;
  }

  // Ranks: longest path from a source (Kahn's order).
  const rank = new Int32Array(n);
  const pending = new Int32Array(n);
  const queue = new Int32Array(n);
  let head = 0;
  let tail = 0;
  for (let v = 0; v < n; v++) {
    pending[v] = inStart[v + 1] - inStart[v];
    if (pending[v] === 0) queue[tail++] = v;
  }
  while (head < tail) {
    const v = queue[head++];
    for (let k = outStart[v]; k < outStart[v + 1]; k++) {
      const w = outAdj[k];
      if (rank[v] + 1 > rank[w]) rank[w] = rank[v] + 1;
      if (--pending[w] === 0) queue[tail++] = w;
    }
  }
  let rankCount = 0;
  for (let v = 0; v < n; v++) rankCount = Math.max(rankCount, rank[v] + 1);

  // Initial order: topological visit order within each rank.
  const rankSizes = new Int32Array(rankCount);
  const order = new Float64Array(n);
  const visit = tail === n ? queue : Int32Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < n; i++) {
    const v = visit[i];
    order[v] = rankSizes[rank[v]]++;
  }

  // Barycentre sweeps, rank by rank: a node moves toward the mean relative position of its
  // neighbours on the side swept from (already placed in this sweep); then its rank renumbers.
  const key = new Float64Array(n);
  const byRank = bucketByRank(n, rank, rankSizes);
  for (let s = 0; s < sweeps; s++) {
    const down = s % 2 === 0;
    const start = down ? inStart : outStart;
    const adj = down ? inAdj : outAdj;
    for (let i = 0; i < rankCount; i++) {
      const members = byRank[down ? i : rankCount - 1 - i];
      for (const v of members) {
        let sum = 0;
        let count = 0;
        for (let k = start[v]; k < start[v + 1]; k++) {
          const u = adj[k];
          sum += (order[u] + 0.5) / rankSizes[rank[u]];
          count++;
        }
        key[v] = count > 0 ? sum / count : (order[v] + 0.5) / rankSizes[rank[v]];
      }
      members.sort((a, b) => key[a] - key[b] || order[a] - order[b]);
      for (let j = 0; j < members.length; j++) order[members[j]] = j;
    }
  }
  return { rank, order, rankCount, rankSizes };
}

/**
 * @param {number} n
 * @param {Int32Array} rank
 * @param {Int32Array} rankSizes
 * @returns {number[][]}
 */
function bucketByRank(n, rank, rankSizes) {
  /** @type {number[][]} */
  const buckets = Array.from(rankSizes, () => []);
  for (let v = 0; v < n; v++) buckets[rank[v]].push(v);
  return buckets;
}
