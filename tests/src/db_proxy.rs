//! A TCP proxy in front of the shared PostgreSQL, so a test can take "the database" away from
//! one server without disturbing the other tests using the same PostgreSQL: [`DbProxy::cut`]
//! closes every connection and refuses new ones (the port is closed, as when PostgreSQL is
//! stopped), [`DbProxy::resume`] accepts again on the same port.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

pub struct DbProxy {
    address: SocketAddr,
    upstream: SocketAddr,
    state: Arc<Mutex<State>>,
}

/// The accept loop and every forwarding task of the current generation; `cut` aborts them and
/// starts a new generation, so a connection accepted in the meantime is closed too.
#[derive(Default)]
struct State {
    generation: u64,
    tasks: Vec<AbortHandle>,
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn forward(mut client: TcpStream, upstream: SocketAddr) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}

fn accept_loop(listener: TcpListener, upstream: SocketAddr, state: Arc<Mutex<State>>) {
    let mut current = lock(&state);
    let generation = current.generation;
    let registry = state.clone();
    let handle = tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let mut current = lock(&registry);
            if current.generation != generation {
                break;
            }
            let connection = tokio::spawn(forward(client, upstream));
            current.tasks.retain(|task| !task.is_finished());
            current.tasks.push(connection.abort_handle());
        }
    });
    current.tasks.push(handle.abort_handle());
}

impl DbProxy {
    /// Listens on a free loopback port and forwards every connection to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let address = listener.local_addr().expect("proxy address");
        let state = Arc::new(Mutex::new(State::default()));
        accept_loop(listener, upstream, state.clone());
        Self {
            address,
            upstream,
            state,
        }
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Closes every connection and the listening port: new connections are refused.
    pub fn cut(&self) {
        let mut state = lock(&self.state);
        state.generation += 1;
        for task in state.tasks.drain(..) {
            task.abort();
        }
    }

    /// Accepts connections again, on the same port.
    pub async fn resume(&self) {
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(self.address).await {
                Ok(listener) => break listener,
                // The aborted accept loop may take a moment to let go of the port.
                Err(_) if tries < 100 => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
                Err(error) => panic!("cannot listen on {} again: {error}", self.address),
            }
        };
        accept_loop(listener, self.upstream, self.state.clone());
    }
}

impl Drop for DbProxy {
    fn drop(&mut self) {
        self.cut();
    }
}
