<?php
// Copyright: bitrix.bxenv contributors
// GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
//
// The appliance's web interface (the "scale" module of Bitrix CMS) as a client
// of bx-provider, reduced to what it does with the command:
//
// * it writes the line "sudo -u root /opt/webdir/bin/bx-provider -a <action>
//   [--provider P] [--config_id C | --task_id T] -o json", with the values
//   pasted in unquoted and the whole line passed through escapeshellcmd(), to
//   the stdin of /bin/bash (order_to_host has two spaces before --task_id);
// * it ignores stderr, and reads stdout only when the exit status is 0;
// * it json_decode()s stdout and reads only the keys below.
//
// Usage: php client.php list | configs P | order P C | orders_list |
//                       order_to_host P T
// Prints one JSON object: what the web interface makes of the answer
// ("ok" false: it shows an error), with the PHP types of the values it read.

const BX_PROVIDER = '/opt/webdir/bin/bx-provider';

// Run one bx-provider action as the web interface does; null on failure.
function bx_provider($action, $options)
{
    $line = escapeshellcmd('sudo -u root ' . BX_PROVIDER . ' -a ' . $action . $options . ' -o json');
    $descriptors = array(0 => array('pipe', 'r'), 1 => array('pipe', 'w'), 2 => array('file', '/dev/null', 'w'));
    $process = proc_open('/bin/bash', $descriptors, $pipes);
    if (!is_resource($process)) {
        return null;
    }
    fwrite($pipes[0], $line);
    fclose($pipes[0]);
    $output = stream_get_contents($pipes[1]);
    fclose($pipes[1]);
    if (proc_close($process) != 0) {
        return null;
    }
    $data = json_decode($output, true);
    return is_array($data) ? $data : null;
}

function types($values)
{
    $types = array();
    foreach ($values as $key => $value) {
        $types[$key] = gettype($value);
    }
    return $types;
}

function view_list()
{
    $data = bx_provider('list', '');
    if ($data === null) {
        return array('ok' => false);
    }
    // Only enabled providers are offered.
    $enabled = array();
    foreach ($data['params']['providers'] as $name => $entry) {
        if (isset($entry['status']) && $entry['status'] == 'enabled') {
            $enabled[] = (string) $name;
        }
    }
    return array('ok' => true, 'enabled' => $enabled);
}

function view_configs($provider)
{
    $data = bx_provider('configs', ' --provider ' . $provider);
    if ($data === null) {
        return array('ok' => false);
    }
    $configs = array();
    foreach ($data['params']['provider_configs'][$provider]['configurations'] as $item) {
        $configs[] = array('id' => $item['id'], 'descr' => $item['descr'],
                           'types' => types(array('id' => $item['id'], 'descr' => $item['descr'])));
    }
    return array('ok' => true, 'configs' => $configs);
}

function view_order($provider, $config_id)
{
    $data = bx_provider('order', ' --provider ' . $provider . ' --config_id ' . $config_id);
    $task_id = $data === null ? '' : $data['params']['provider_order'][$provider]['task_id'];
    if ($task_id == '') {
        return array('ok' => false);
    }
    return array('ok' => true, 'task_id' => $task_id, 'types' => types(array('task_id' => $task_id)));
}

function view_orders_list()
{
    $data = bx_provider('orders_list', '');
    if ($data === null) {
        return array('ok' => false);
    }
    $rows = array();
    foreach ($data['params']['provider_order_list'] as $provider => $tasks) {
        if (!is_array($tasks)) {
            continue;  // a provider without orders
        }
        foreach ($tasks as $task_id => $task) {
            $read = array('status' => $task['status'], 'mtime' => $task['mtime'], 'error' => $task['error'],
                          'message' => $task['message']);
            $rows[] = array('provider' => (string) $provider, 'task_id' => (string) $task_id, 'values' => $read,
                            'types' => types($read), 'date' => date('Y-m-d H:i:s', $task['mtime']),
                            // The "add to pool" button.
                            'add_button' => $task['status'] == 'finished');
        }
    }
    return array('ok' => true, 'orders' => $rows);
}

function view_order_to_host($provider, $task_id)
{
    $data = bx_provider('order_to_host', ' --provider ' . $provider . '  --task_id ' . $task_id);
    if ($data === null || (isset($data['error']) && $data['error'] == 1)) {
        return array('ok' => false);
    }
    // Never waits for the set-up job; updates the monitoring and nothing else.
    return array('ok' => true, 'document' => $data,
                 'shown' => 'The server is now being added to the pool. It will soon be available.',
                 'then' => array('bx-monitor -a update'));
}

$args = array_slice($argv, 1);
switch (isset($args[0]) ? $args[0] : '') {
    case 'list':
        $view = view_list();
        break;
    case 'configs':
        $view = view_configs($args[1]);
        break;
    case 'order':
        $view = view_order($args[1], $args[2]);
        break;
    case 'orders_list':
        $view = view_orders_list();
        break;
    case 'order_to_host':
        $view = view_order_to_host($args[1], $args[2]);
        break;
    default:
        fwrite(STDERR, "usage: php client.php list|configs P|order P C|orders_list|order_to_host P T\n");
        exit(2);
}
echo json_encode($view), "\n";
