import { contextBridge, ipcRenderer } from 'electron'
import { BRIDGE_GLOBAL } from '../shared/ipc'
import { createBridge } from './bridge'

// The window's only way to main: one frozen object of functions (see bridge.ts). Built as CJS
// because a sandboxed preload cannot load ES modules.
contextBridge.exposeInMainWorld(BRIDGE_GLOBAL, createBridge(ipcRenderer))
