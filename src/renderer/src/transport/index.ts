export * from './types'
export { HttpTransport, type HttpTransportOptions } from './http'
export { IpcTransport, type IpcTransportOptions } from './ipc'
export { fetchSnapshot } from './snapshot'
