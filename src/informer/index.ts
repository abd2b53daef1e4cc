// The informer core: list/watch or snapshot -> compact records in indexed stores -> subscribers.
export * from './types.js';
export { createInformer, createInformers, connectionIdentity, consoleLogger, type KdnsInformer } from './informer.js';
export { IndexedStore, INDEXES } from './store.js';
export { convertObject, convertService, convertEndpointSlice, convertEndpoints, convertPod, convertNamespace, convertNode } from './convert.js';
export { parseSelector, matchesSelector } from './selector.js';
export { parseSnapshot } from './snapshot-source.js';
export { onApiRequest, type ApiRequestObservation } from './observe.js';
