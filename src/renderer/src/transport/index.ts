/*
 * The renderer's transport layer in one import: the Transport interface and its types, the HTTP
 * and IPC implementations, and the snapshot built from the GET routes.
 */

export * from './types'
export { HttpTransport, type HttpTransportOptions } from './http'
export { IpcTransport, type IpcTransportOptions } from './ipc'
export { fetchSnapshot } from './snapshot'
