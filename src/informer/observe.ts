// Requests the informer makes to the Kubernetes API, for whoever wants to count them (the DNS
// server exports them as CoreDNS's coredns_kubernetes_rest_client_* metrics). The informer itself
// knows no metrics library: it is shared by the DNS server, the proxy and the CNI daemon.

export interface ApiRequestObservation {
  /** host[:port] of the API server, as client-go's metrics adapter labels it. */
  host: string;
  method: string;
  /** HTTP status, or "<error>" when no response arrived (client-go's label for that case). */
  code: string;
  /** A watch (streaming) request: counted, but its duration is not a request latency. */
  watch: boolean;
  /** For non-watch requests: from sending the request until the body was read. */
  seconds?: number;
}

type Listener = (o: ApiRequestObservation) => void;
const listeners = new Set<Listener>();

export function onApiRequest(cb: Listener): () => void {
  listeners.add(cb);
  return () => {
    listeners.delete(cb);
  };
}

export function emitApiRequest(o: ApiRequestObservation): void {
  for (const cb of listeners) {
    try {
      cb(o);
    } catch {
      // an observer's failure must not break the watch loop
    }
  }
}
