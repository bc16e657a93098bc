import { createPinia } from 'pinia'
import { createApp } from 'vue'
import App from './App.vue'
import { setTransport } from './stores/transport'
import { HttpTransport } from './transport/http'
import './styles.css'

// In a browser the app talks HTTP + SSE to the origin that served it; the Electron window
// will install an IPC transport here instead.
setTransport(new HttpTransport())
createApp(App).use(createPinia()).mount('#app')
