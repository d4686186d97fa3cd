// Public entry point: Multipath TCP for Node.js.
export { connect, createConnection, type ConnectOptions } from './connect';
export { createServer, listen, Server, type ListenHandle, type ListenOptions, type ServerOptions } from './server';
export { isMptcp, getInfo, getSubflows, getSnapshot, type AnySocket } from './info';
export { support, type SupportInfo, type SupportFeatures, type UnavailableReason } from './support';
export type { MptcpInfo, Subflow, TcpState } from './decode';
export type { MptcpMode } from './policy';
export type { Scope } from './scope';
export { NetlinkError, NetlinkParseError, type SystemError, type CodedError } from './errors';
/** The in-kernel path manager: endpoints and limits of this network namespace. */
export * as pm from './pm';
export type { Endpoint, EndpointFlag, AddEndpointOptions, Limits, ConnectionRef, SubflowEnds } from './pm';
export { connections, getSubflowFlags, type Connection, type ConnectionSubflow, type ConnectionsOptions } from './diag';
export { monitor, Monitor, type MptcpEvent, type MptcpEventType, type MonitorOptions } from './monitor';
/** `mptcp.http.Agent`: an `http.Agent` whose connections are MPTCP. */
export * as http from './http';
/** `mptcp.https.Agent`: an `https.Agent` whose TLS connections run over MPTCP. */
export * as https from './https';
export { connector, type Connector, type ConnectorOptions, type ConnectParams, type ConnectCallback } from './connector';
export type { HttpAgentOptions, HttpsAgentOptions } from './agents';
/** Prometheus metrics: prom-client collectors (`register`), the text exposition and the exporter. */
export * as metrics from './metrics';
export type { MptcpMetrics, RegisterOptions, RegistryLike, TrackOptions } from './metrics';
export { dashboard, type DashboardHandler, type DashboardOptions } from './dashboard';
