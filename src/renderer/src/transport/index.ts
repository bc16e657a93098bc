export * from './types'
export { HttpTransport, type HttpTransportOptions } from './http'
export { fetchSnapshot } from './snapshot'
