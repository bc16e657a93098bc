import { createPinia } from 'pinia'
import { createApp } from 'vue'
import App from './App.vue'
import { selectTransport, setTransport } from './stores/transport'
import './styles.css'

// The Electron window talks IPC through the preload's bridge; a browser talks HTTP + SSE to the
// origin that served it.
setTransport(selectTransport(window))
createApp(App).use(createPinia()).mount('#app')
