// Tree-shaken ECharts: only the pieces the timeline uses.
import { use } from 'echarts/core'
import { GraphicComponent, GridComponent } from 'echarts/components'
import { CanvasRenderer } from 'echarts/renderers'

// Grid: the y axes under the timeline; Graphic: its lines and areas (timeline-paths.ts).
use([GridComponent, GraphicComponent, CanvasRenderer])
